/* Unit tests for crypto/psi.c: the group of suite r255-sha512
 * (docs/spec/psi-protocol.md). libsodium's ristretto255 is checked against the
 * published vectors of RFC 9496 / ristretto.group (small multiples of the
 * base point, hash-to-point, and every bad encoding); our hash-to-group is
 * checked against its SHA-512 input built by hand and against pinned values;
 * and the protocol's one algebraic fact, b*(a*k*H) == (a*k)*(b*H), holds. */
#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(cr_hex_decode_exact(hex, strlen(hex), out, n), CR_OK);
}

static void scalar_small(uint8_t s[32], uint8_t v)
{
	memset(s, 0, 32);
	s[0] = v;
}

/* ---------------------------------------------- RFC 9496 / ristretto.group */

static const char *base_multiples[] = {
	"0000000000000000000000000000000000000000000000000000000000000000", /* 0B */
	"e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76", /* B */
	"6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919", /* 2B */
	"94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259", /* 3B */
};

static void test_small_multiples_of_base(void **state)
{
	(void)state;
	uint8_t base[32], want[32], got[32], s[32];

	from_hex(base_multiples[1], base, 32);
	for (uint8_t i = 1; i <= 3; i++) {
		scalar_small(s, i);
		from_hex(base_multiples[i], want, 32);
		assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, s, base, got), CR_OK);
		assert_bytes_equal(got, want, 32);
	}
}

static const char *bad_encodings[] = {
	/* non-canonical field encodings */
	"00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	/* negative field elements */
	"0100000000000000000000000000000000000000000000000000000000000000",
	"01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
	"c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
	"c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
	"47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
	"f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
	"87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
	/* non-square x^2 */
	"26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
	"4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
	"de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
	"bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
	"2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
	"f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
	"8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
	"2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
	/* negative xy */
	"3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
	"a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
	"d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
	"8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
	"32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
	"227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
	"5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
	"445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
	/* s = -1, which gives y = 0 */
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	/* the base point's encoding with bit 255 set (value >= 2^255 > p,
	 * RFC 9496 4.3.1; libsodium 1.0.18 alone would decode it) */
	"e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2df6",
	/* and two of our own: all 0xff, all 0xfe */
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"fefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefe",
};

static void test_bad_encodings_refused(void **state)
{
	(void)state;
	uint8_t s[32], p[32], out[32], untouched[32];

	crypto_psi_scalar_random(s);
	memset(untouched, 0x77, sizeof(untouched));
	for (size_t i = 0; i < sizeof(bad_encodings) / sizeof(bad_encodings[0]); i++) {
		from_hex(bad_encodings[i], p, 32);
		memcpy(out, untouched, 32);
		print_message("bad encoding %zu\n", i);
		assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, s, p, out), CR_ERR_PSI_ENCODING);
		assert_bytes_equal(out, untouched, 32);
	}
}

static const char *hash_labels[] = {
	"Ristretto is traditionally a short shot of espresso coffee",
	"made with the normal amount of ground coffee but extracted with",
	"about half the amount of water in the same amount of time",
	"by using a finer grind.",
	"This produces a concentrated shot of coffee per volume.",
	"Just pulling a normal shot short will produce a weaker shot",
	"and is not a Ristretto as some believe.",
};

static const char *hash_points[] = {
	"3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46",
	"f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b",
	"006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826",
	"f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a",
	"ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179",
	"e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628",
	"80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065",
};

/* The map our H is built on: ristretto255_from_hash(SHA-512(label)). */
static void test_from_hash_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < 7; i++) {
		uint8_t h[64], want[32], got[32];
		crypto_hash_sha512(h, (const uint8_t *)hash_labels[i], strlen(hash_labels[i]));
		assert_int_equal(crypto_core_ristretto255_from_hash(got, h), 0);
		from_hex(hash_points[i], want, 32);
		assert_bytes_equal(got, want, 32);
	}
}

/* ---------------------------------------------------- our hash-to-group */

static void digest_of(const char *normalized, uint8_t d[32])
{
	crypto_hash_sha256(d, (const uint8_t *)normalized, strlen(normalized));
}

/* H(t, d) rebuilt from docs/spec/psi-protocol.md's text with one flat buffer. */
static void hash_by_definition(const char *type, const uint8_t d[32], uint8_t out[32])
{
	uint8_t msg[128], h[64];
	size_t n = 0;

	memcpy(msg, "cleanroom/psi/v1", 16);
	n = 16;
	msg[n++] = 0x00;
	memcpy(msg + n, type, strlen(type));
	n += strlen(type);
	msg[n++] = 0x00;
	memcpy(msg + n, d, 32);
	n += 32;
	assert_int_equal(n, 16 + 1 + strlen(type) + 1 + 32);
	crypto_hash_sha512(h, msg, n);
	assert_int_equal(crypto_core_ristretto255_from_hash(out, h), 0);
}

static void test_hash_to_group_known_answers(void **state)
{
	(void)state;
	uint8_t d[32], got[32], want[32], by_def[32], other[32];

	/* Pinned when the suite was written; a change here breaks every
	 * stored PSI element (I1), so it must never happen silently. */
	digest_of("alice.smith@example.com", d);
	assert_int_equal(crypto_psi_hash_to_group(CRYPTO_PSI_R255, CRYPTO_ID_EMAIL, d, got), CR_OK);
	from_hex("2e4a4a6a95a53163d8ccb57bb03f43f7750741379b6191430974f0240b75c578", want, 32);
	assert_bytes_equal(got, want, 32);
	hash_by_definition("email", d, by_def);
	assert_bytes_equal(got, by_def, 32);
	assert_int_equal(crypto_core_ristretto255_is_valid_point(got), 1);
	/* the type is part of the input */
	assert_int_equal(crypto_psi_hash_to_group(CRYPTO_PSI_R255, CRYPTO_ID_PHONE, d, other), CR_OK);
	assert_memory_not_equal(got, other, 32);

	digest_of("+8613800138000", d);
	assert_int_equal(crypto_psi_hash_to_group(CRYPTO_PSI_R255, CRYPTO_ID_PHONE, d, got), CR_OK);
	from_hex("c2dbd1e6dd4fc7cf41562cb0f1166ec1e4056baf9830e67600fd02652ada0611", want, 32);
	assert_bytes_equal(got, want, 32);
	hash_by_definition("phone", d, by_def);
	assert_bytes_equal(got, by_def, 32);
}

/* ---------------------------------------------------- scalars and mul */

/* True if s < L, by checking that reducing it mod L changes nothing. */
static bool scalar_canonical(const uint8_t s[32])
{
	uint8_t wide[64] = { 0 }, r[32];
	memcpy(wide, s, 32);
	crypto_core_ristretto255_scalar_reduce(r, wide);
	return memcmp(r, s, 32) == 0;
}

static void test_scalar_random(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	crypto_psi_scalar_random(a);
	crypto_psi_scalar_random(b);
	assert_false(sodium_is_zero(a, 32));
	assert_true(scalar_canonical(a));
	assert_memory_not_equal(a, b, 32);
}

/* The match protocol's correctness: b*(a*k*H) == (a*k)*(b*H). */
static void test_commutativity(void **state)
{
	(void)state;
	uint8_t a[32], b[32], k[32], ak[32], d[32], h[32];
	uint8_t e[32], left[32], bh[32], right[32], other[32];

	crypto_psi_scalar_random(a);
	crypto_psi_scalar_random(b);
	crypto_psi_scalar_random(k);
	crypto_psi_scalar_mul(a, k, ak);
	digest_of("zhang.wei@qq.com", d);
	assert_int_equal(crypto_psi_hash_to_group(CRYPTO_PSI_R255, CRYPTO_ID_EMAIL, d, h), CR_OK);

	/* brand side: E = k*H, then the service's a*E; partner: b*(a*E) */
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, k, h, e), CR_OK);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, a, e, e), CR_OK); /* in place */
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, b, e, left), CR_OK);
	/* partner: B = b*H; service: (a*k)*B */
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, b, h, bh), CR_OK);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, ak, bh, right), CR_OK);
	assert_bytes_equal(left, right, 32);

	/* another subject does not match */
	digest_of("li.lei@163.com", d);
	assert_int_equal(crypto_psi_hash_to_group(CRYPTO_PSI_R255, CRYPTO_ID_EMAIL, d, h), CR_OK);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, b, h, bh), CR_OK);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, ak, bh, other), CR_OK);
	assert_memory_not_equal(left, other, 32);
}

static void test_mul_identity_refused(void **state)
{
	(void)state;
	uint8_t s[32], zero[32] = { 0 }, p[32], out[32], untouched[32], l[32];

	crypto_psi_scalar_random(s);
	memset(untouched, 0x42, 32);
	memcpy(out, untouched, 32);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, s, zero, out), CR_ERR_PSI_IDENTITY);
	assert_bytes_equal(out, untouched, 32);

	from_hex(base_multiples[2], p, 32);
	/* a zero scalar, and the group order L, give the identity */
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, zero, p, out), CR_ERR_PSI_IDENTITY);
	from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", l, 32);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, l, p, out), CR_ERR_PSI_IDENTITY);
	assert_bytes_equal(out, untouched, 32);
}

static void test_scalar_mul(void **state)
{
	(void)state;
	uint8_t a[32], b[32], ab[32], p[32], x[32], y[32];

	scalar_small(a, 6);
	scalar_small(b, 7);
	crypto_psi_scalar_mul(a, b, ab);
	scalar_small(x, 42);
	assert_bytes_equal(ab, x, 32);

	crypto_psi_scalar_random(a);
	crypto_psi_scalar_random(b);
	crypto_psi_scalar_mul(a, b, ab);
	from_hex(base_multiples[1], p, 32);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, b, p, x), CR_OK);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, a, x, x), CR_OK);
	assert_int_equal(crypto_psi_mul(CRYPTO_PSI_R255, ab, p, y), CR_OK);
	assert_bytes_equal(x, y, 32);
}

/* ------------------------------------------------ brand scalar (keyring) */

struct fixture {
	char root[64];
	char keys[96];
	struct crypto_keyring *kr;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/cr-test-psi-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->root);
	if (crypto_keys_create(f->keys, "test") != CR_OK ||
	    crypto_keyring_open(f->keys, &f->kr) != CR_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];
	crypto_keyring_free(f->kr);
	snprintf(p, sizeof(p), "%s/master.key", f->keys);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sign.key", f->keys);
	unlink(p);
	rmdir(f->keys);
	rmdir(f->root);
	free(f);
	return 0;
}

static void test_brand_scalar(void **state)
{
	struct fixture *f = *state;
	uint8_t k1[32], k1b[32], k2[32], k1v2[32], sub[32], wide[64], want[32];

	assert_int_equal(crypto_psi_brand_scalar(f->kr, 1, 1, k1), CR_OK);
	assert_int_equal(crypto_psi_brand_scalar(f->kr, 1, 1, k1b), CR_OK);
	assert_bytes_equal(k1, k1b, 32);
	assert_false(sodium_is_zero(k1, 32));
	assert_true(scalar_canonical(k1));
	assert_int_equal(crypto_psi_brand_scalar(f->kr, 2, 1, k2), CR_OK);
	assert_memory_not_equal(k1, k2, 32);
	assert_int_equal(crypto_psi_brand_scalar(f->kr, 1, 2, k1v2), CR_OK);
	assert_memory_not_equal(k1, k1v2, 32);

	/* as documented in crypto.h */
	assert_int_equal(crypto_subkey_derive(f->kr, 1, CRYPTO_USE_PSI, 1, sub), CR_OK);
	assert_int_equal(crypto_generichash(wide, 64, (const uint8_t *)"cleanroom/psi/brand-scalar/v1",
					    29, sub, 32), 0);
	crypto_core_ristretto255_scalar_reduce(want, wide);
	assert_bytes_equal(k1, want, 32);
	/* and it is not the pseudonym key's scalar */
	assert_int_equal(crypto_subkey_derive(f->kr, 1, CRYPTO_USE_PSEUDONYM, 1, sub), CR_OK);
	assert_int_equal(crypto_generichash(wide, 64, (const uint8_t *)"cleanroom/psi/brand-scalar/v1",
					    29, sub, 32), 0);
	crypto_core_ristretto255_scalar_reduce(want, wide);
	assert_memory_not_equal(k1, want, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_multiples_of_base),
		cmocka_unit_test(test_bad_encodings_refused),
		cmocka_unit_test(test_from_hash_vectors),
		cmocka_unit_test(test_hash_to_group_known_answers),
		cmocka_unit_test(test_scalar_random),
		cmocka_unit_test(test_commutativity),
		cmocka_unit_test(test_mul_identity_refused),
		cmocka_unit_test(test_scalar_mul),
		cmocka_unit_test_setup_teardown(test_brand_scalar, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
