/* Helpers the Curve25519 suite's unit tests share (test_x25519*.c). */
#ifndef CR_TEST_X25519_FIXTURE_H
#define CR_TEST_X25519_FIXTURE_H

#include "test_util.h"

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"

static inline void from_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(cr_hex_decode_exact(hex, strlen(hex), out, n), CR_OK);
}

/* The RFCs print field elements big-endian; our encodings are little-endian. */
static inline void from_hex_be(const char *hex, uint8_t out[32])
{
	uint8_t be[32];

	from_hex(hex, be, 32);
	for (int i = 0; i < 32; i++)
		out[i] = be[31 - i];
}

/* RFC 7748 section 5.2's vectors: k (before clamping), u, k * u. */
static const struct {
	const char *k, *u, *out;
} rfc7748_vectors[] = {
	{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
	 "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
	 "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
	/* u has bit 255 set: the RFC (and the ladder) ignore it */
	{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
	 "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
	 "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
};

/* RFC 7748 section 5's decodeScalar25519. */
static inline void clamp(uint8_t k[32])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

/* 1 where the CPU runs the IFMA code; 0, said once per test, elsewhere. */
static inline int have_ifma(void)
{
	if (crypto_x25519_ifma_available())
		return 1;
	print_message("[ SKIPPED  ] this CPU has no AVX-512 IFMA: only the portable code is tested\n");
	return 0;
}

/* The birational map from an Edwards y (libsodium's encoding, sign bit
 * ignored) to the Montgomery u: u = (1 + y) / (1 - y). */
static inline void ed_to_u(const uint8_t ed[32], uint8_t u[32])
{
	uint8_t one_b[32] = {1};
	crypto_fe y, one, n, d;

	crypto_fe_frombytes(&y, ed);
	crypto_fe_frombytes(&one, one_b);
	crypto_fe_add(&n, &one, &y);
	crypto_fe_sub(&d, &one, &y);
	crypto_fe_invert(&d, &d);
	crypto_fe_mul(&n, &n, &d);
	crypto_fe_tobytes(u, &n);
}

#endif
