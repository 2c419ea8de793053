/*
 * ct_x25519.c: `make ct`, the constant-time check of suite
 * x25519-ell2-sha512's checked multiplication and of its hash to the group
 * (whose secret is the digest) (docs/spec/psi-protocol.md
 * section 2b, issue 22), after ctgrind: the secret scalar is marked
 * undefined for valgrind's memcheck, and any conditional jump or memory
 * address that depends on it is then an error (the Makefile runs this
 * under valgrind --error-exitcode=1). The only secret-derived value the
 * code may branch on, whether a result is the identity, is declared
 * public by CR_CT_PUBLIC (crypto/crypto_internal.h), which this build
 * turns on with -DCR_CT_VALGRIND.
 *
 * Only the portable code is checked: valgrind does not run AVX-512 (its
 * CPUID hides it, and an AVX-512 instruction stops it), so the IFMA code
 * cannot be checked this way; the Makefile sets CLEANROOM_CRYPTO=portable
 * and this program also refuses to go on if the IFMA code was chosen.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#include "crypto/crypto_internal.h"

#define N 11

int main(void)
{
	static const uint8_t nine[32] = {9};
	/* a point of order 8: the identity path (refused) */
	static const uint8_t order8[32] = {
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
	};
	uint8_t s[3][32], q[32], in[N * 32], out[N * 32], one[32];
	size_t bad = 0;
	cr_err rc;
	int fails = 0;

	if (sodium_init() < 0)
		return 1;
	if (strcmp(crypto_x25519_backend(), "portable") != 0) {
		fprintf(stderr, "ct-x25519: the IFMA code was chosen; run with CLEANROOM_CRYPTO=portable\n");
		return 1;
	}
	for (size_t i = 0; i < N; i++) {
		crypto_core_ed25519_scalar_random(q);
		if (crypto_x25519_ladder(q, nine, in + 32 * i) != CR_OK)
			return 1;
	}
	memcpy(in + 32 * 5, order8, 32);
	crypto_core_ed25519_scalar_random(s[0]);
	memset(s[1], 0, 32);      /* zero: every result is the identity */
	memset(s[2], 0xff, 32);   /* top bits set */
	for (int k = 0; k < 3; k++) {
		VALGRIND_MAKE_MEM_UNDEFINED(s[k], 32);
		rc = crypto_x25519_mul(s[k], in, one);
		VALGRIND_MAKE_MEM_DEFINED(one, sizeof(one));
		fails += k == 1 ? rc != CR_ERR_PSI_IDENTITY : rc != CR_OK;
		rc = crypto_x25519_mul_many(s[k], in, out, N, &bad);
		VALGRIND_MAKE_MEM_DEFINED(out, sizeof(out));
		VALGRIND_MAKE_MEM_DEFINED(&bad, sizeof(bad));
		fails += rc != CR_ERR_PSI_IDENTITY || bad != (k == 1 ? 0 : 5);
		VALGRIND_MAKE_MEM_DEFINED(s[k], 32);
	}
	/* The hash to the group: the digest (personal data) is the secret. */
	for (int k = 0; k < 3; k++) {
		uint8_t d[CRYPTO_DIGEST_BYTES], h[32];
		randombytes_buf(d, sizeof(d));
		VALGRIND_MAKE_MEM_UNDEFINED(d, sizeof(d));
		rc = crypto_x25519_hash_to_group(k == 1 ? CRYPTO_ID_PHONE : CRYPTO_ID_EMAIL, d, h);
		VALGRIND_MAKE_MEM_DEFINED(h, sizeof(h));
		fails += rc != CR_OK;
	}
	if (fails != 0) {
		fprintf(stderr, "ct-x25519: %d wrong results\n", fails);
		return 1;
	}
	printf("ct-x25519: the portable checked multiplication ran on undefined scalars, and the hash to "
	       "the group on undefined digests (backend %s)\n",
	       crypto_x25519_backend());
	return 0;
}
