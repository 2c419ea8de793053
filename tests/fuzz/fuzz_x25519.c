/*
 * fuzz_x25519.c: libFuzzer target for the elements a partner sends in suite
 * x25519-ell2-sha512 (docs/spec/psi-protocol.md section 2b): the strict
 * decoding and the checked multiplication of crypto/x25519.c, and the
 * differential between its two implementations, the portable one and the
 * eight AVX-512 IFMA lanes of crypto/x25519_ifma.c (where the CPU has
 * them; elsewhere the portable code is checked alone).
 *
 * The input is up to eight lanes of (scalar, element), 64 bytes each; a
 * short input is padded with zeros. For every lane:
 *  - both implementations give the same result code and, when they accept,
 *    the same bytes;
 *  - the result code is CR_OK, CR_ERR_PSI_ENCODING or CR_ERR_PSI_IDENTITY,
 *    and ENCODING exactly when crypto_x25519_decode refuses the element;
 *  - an accepted result is a canonical encoding that decodes again and lies
 *    in the subgroup of order l (the ladder on l gives the identity), so
 *    nothing of a crafted element's small-order or twist part survives;
 * and the first 32 bytes, hashed to the group as a digest (RFC 9380), give
 * an element of that subgroup too. The eight scalars, taken as digests,
 * hashed by crypto_x25519_hash_many on the IFMA lanes (where the CPU has
 * them) give crypto_x25519_hash_to_group's bytes, lane by lane.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* l = 2^252 + 27742317777372353535851937790883648493, little-endian */
static const uint8_t order_l[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_x25519: invariant broken: %s\n", what);
		abort();
	}
}

/* An accepted output: canonical, on the curve, of order l. */
static void check_in_subgroup(const uint8_t e[32], const char *what)
{
	crypto_fe u;
	uint8_t back[32], out[32];

	check(crypto_x25519_decode(e, &u) == CR_OK, what);
	crypto_fe_tobytes(back, &u);
	check(memcmp(back, e, 32) == 0, what);
	check(crypto_x25519_ladder(order_l, e, out) == CR_ERR_PSI_IDENTITY, what);
}

/* The eight-lane hash of eight digests against the single hash. */
static void check_hash_lanes(enum crypto_id_type t, const uint8_t d[8][32])
{
	uint8_t want[8][32], got[8][32];
	cr_err want_rc = CR_OK;

	if (!crypto_x25519_ifma_available())
		return;
	memset(want, 0x5a, sizeof(want));
	memset(got, 0x5a, sizeof(got));
	for (int l = 0; l < 8; l++) {
		cr_err rc = crypto_x25519_hash_to_group(t, d[l], want[l]);

		if (want_rc == CR_OK)
			want_rc = rc;
	}
	check(crypto_x25519_hash_many_impl(CRYPTO_X25519_IFMA, t, &d[0][0], &got[0][0], 8) == want_rc,
	      "the eight-lane hash and the single one disagree on a refusal");
	check(memcmp(got, want, sizeof(got)) == 0, "the eight-lane hash and the single one give different bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t s[8][32], p[8][32], want[8][32], got[8][32], h[32];
	cr_err want_rc[8], got_rc[8];
	crypto_fe u;

	memset(s, 0, sizeof(s));
	memset(p, 0, sizeof(p));
	for (size_t i = 0; i < 8 * 64 && i < size; i++) {
		if ((i % 64) < 32)
			s[i / 64][i % 32] = data[i];
		else
			p[i / 64][i % 32] = data[i];
	}
	for (int l = 0; l < 8; l++) {
		memset(want[l], 0xa5, 32);
		want_rc[l] = crypto_x25519_mul(s[l], p[l], want[l]);
		check(want_rc[l] == CR_OK || want_rc[l] == CR_ERR_PSI_ENCODING || want_rc[l] == CR_ERR_PSI_IDENTITY,
		      "an undocumented refusal");
		check((want_rc[l] == CR_ERR_PSI_ENCODING) == (crypto_x25519_decode(p[l], &u) != CR_OK),
		      "ENCODING does not mean that decoding refused");
		if (want_rc[l] == CR_OK)
			check_in_subgroup(want[l], "an accepted product outside the order-l subgroup");
	}
	if (crypto_x25519_ifma_available()) {
		memset(got, 0x5a, sizeof(got));
		crypto_x25519_ifma_mul8((const uint8_t(*)[32])s, (const uint8_t(*)[32])p, got, got_rc);
		for (int l = 0; l < 8; l++) {
			check(got_rc[l] == want_rc[l], "the IFMA lanes and the portable code disagree on a refusal");
			if (want_rc[l] == CR_OK)
				check(memcmp(got[l], want[l], 32) == 0,
				      "the IFMA lanes and the portable code give different bytes");
		}
	}
	if (crypto_x25519_hash_to_group(size > 0 ? (enum crypto_id_type)(1 + data[0] % 2) : CRYPTO_ID_EMAIL, s[0],
					h) == CR_OK)
		check_in_subgroup(h, "a hash outside the order-l subgroup");
	check_hash_lanes(size > 0 ? (enum crypto_id_type)(1 + data[size - 1] % 2) : CRYPTO_ID_PHONE, s);
	return 0;
}
