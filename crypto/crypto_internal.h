/*
 * crypto_internal.h: declarations shared by the files of crypto/ and by no
 * one else (docs/style.md: private declarations stay inside the folder). Nothing
 * outside crypto/ includes this header.
 */
#ifndef CR_CRYPTO_INTERNAL_H
#define CR_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/*
 * Makes sure sodium_init() has run once in this process (thread-safe, cheap
 * after the first call). Entry points that draw randomness or allocate
 * secure memory call it; a libsodium that cannot initialize aborts.
 */
void crypto_sodium_ready(void);

/* Fills (buf, len) from `rng`, or from randombytes_buf when rng is NULL. */
void crypto_rng_fill(const struct crypto_rng *rng, uint8_t *buf, size_t len);

/* crypto_id_type_name, but a value outside the enum aborts (misuse). */
const char *crypto_id_type_name_checked(enum crypto_id_type t);

/*
 * The per-type normalizers behind crypto_id_normalize. They get the value
 * with ASCII whitespace trimmed from both ends, non-empty, at most
 * CRYPTO_ID_RAW_MAX bytes, and write `out` only on success.
 */
cr_err crypto_email_normalize(const char *s, size_t len,
			      char out[static CRYPTO_NORMALIZED_MAX + 1]) CR_MUST_CHECK;
/* `region` is the checked default country (two uppercase letters, from
 * crypto_country_find), or NULL for none. Calls libphonenumber. */
cr_err crypto_phone_normalize(const char *s, size_t len, const char *region,
			      char out[static CRYPTO_NORMALIZED_MAX + 1]) CR_MUST_CHECK;
/*
 * Looks up a default country by its region code (ISO 3166 alpha-2 and the
 * few others libphonenumber knows, such as AC and XK), in either case, and
 * writes it in uppercase to out. CR_ERR_ID_COUNTRY if libphonenumber does
 * not know it. A table lookup: it never calls the library.
 */
cr_err crypto_country_find(const char *iso2, char out[static 3]) CR_MUST_CHECK;

/* True for the bytes C's isspace() accepts in the "C" locale. */
static inline int crypto_ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ========================================= Curve25519, x-only (issue 22) */
/*
 * The group arithmetic of the second PSI suite, x25519-ell2-sha512
 * (docs/spec/psi-protocol.md section 2b), in crypto/x25519.c: portable 64-bit
 * code, constant time in the scalar and the field values (the eight-lane
 * IFMA code and the batch entry points are in the section after the hash's).
 */

/* A field element mod p = 2^255 - 19: five limbs of radix 2^51, value
 * sum v[i] * 2^(51 i), not necessarily reduced. */
typedef struct crypto_fe {
	uint64_t v[5];
} crypto_fe;

/* 32 bytes little-endian; bit 255 is ignored and a value >= p is taken as
 * it is (reduced by the arithmetic). */
void crypto_fe_frombytes(crypto_fe *h, const uint8_t s[static 32]);
/* 32 bytes little-endian, fully reduced (below p). */
void crypto_fe_tobytes(uint8_t s[static 32], const crypto_fe *f);
/* h = f + g, f - g, f * g, f^2, f * 121665; h may alias the inputs. */
void crypto_fe_add(crypto_fe *h, const crypto_fe *f, const crypto_fe *g);
void crypto_fe_sub(crypto_fe *h, const crypto_fe *f, const crypto_fe *g);
void crypto_fe_mul(crypto_fe *h, const crypto_fe *f, const crypto_fe *g);
void crypto_fe_sq(crypto_fe *h, const crypto_fe *f);
void crypto_fe_mul_a24(crypto_fe *h, const crypto_fe *f);
/* h = z^(p - 2): 1/z, and 0 for 0. */
void crypto_fe_invert(crypto_fe *h, const crypto_fe *z);
/* 1 when z is a square mod p (0 included), 0 when it is not. */
int crypto_fe_is_square(const crypto_fe *z);
/* f = g when b is 1, unchanged when b is 0 (b is 0 or 1), by masks. */
void crypto_fe_cmov(crypto_fe *f, const crypto_fe *g, uint64_t b);
/* h = -f; h may alias f. */
void crypto_fe_neg(crypto_fe *h, const crypto_fe *f);
/* h = z^((p - 5) / 8) = z^(2^252 - 3), the square-root exponent of RFC 9380
 * appendix G.2.1 (p = 5 mod 8); h may alias z. */
void crypto_fe_pow22523(crypto_fe *h, const crypto_fe *z);

/*
 * A received u-coordinate: CR_ERR_PSI_ENCODING when bit 255 is set, the
 * value is >= p, or u^3 + 486662 u^2 + u is not a square (a twist point).
 * Writes u only on success. The bytes are public; it may branch on them.
 */
cr_err crypto_x25519_decode(const uint8_t in[static 32], crypto_fe *u) CR_MUST_CHECK;
/*
 * RFC 7748 section 5's ladder on the 256-bit integer k as it is (no
 * clamping) and u (bit 255 ignored, as the RFC does; no validation: callers
 * decode first). CR_ERR_PSI_IDENTITY when k * u is the point at infinity;
 * otherwise writes the reduced u-coordinate to out.
 */
cr_err crypto_x25519_ladder(const uint8_t k[static 32], const uint8_t u[static 32],
			    uint8_t out[static 32]) CR_MUST_CHECK;
/* kappa(s) = 8 * ((s * 8^-1) mod l) as a 256-bit little-endian integer. */
void crypto_x25519_kappa(const uint8_t s[static 32], uint8_t kappa[static 32]);
/*
 * The suite's checked multiplication: decodes p (CR_ERR_PSI_ENCODING as
 * above), runs the ladder on kappa(s), which clears any small-order part,
 * and refuses the identity (CR_ERR_PSI_IDENTITY). out is written only on
 * success and may alias p.
 */
cr_err crypto_x25519_mul(const uint8_t s[static 32], const uint8_t p[static 32],
			 uint8_t out[static 32]) CR_MUST_CHECK;

/* ======================= RFC 9380 hash to curve, Curve25519 (issue 22) */
/*
 * The second suite's hash to the group (docs/spec/psi-protocol.md section
 * 2b), in crypto/x25519_h2c.c: RFC 9380's curve25519_XMD:SHA-512_ELL2_RO_
 * (and its _NU_ sibling, for the RFC's vectors). Constant time in the
 * message: the field part is straight-line code over crypto_fe operations,
 * which crypto/x25519_h2c_ifma.c repeats on eight lanes (declared with the
 * batches below). A DST has 1 to 255 bytes; any other length is misuse and
 * aborts.
 */

/* expand_message_xmd with SHA-512 (RFC 9380 section 5.3.1): writes len
 * bytes, 1 <= len <= 255 * 64, to out (the caller's). msg may be NULL
 * when msg_len is 0. */
void crypto_h2c_expand_xmd_sha512(const uint8_t *msg, size_t msg_len,
				  const uint8_t *dst, size_t dst_len,
				  uint8_t *out, size_t len);
/* hash_to_field (section 5.2) into GF(p): count (1 or 2) elements, m = 1,
 * L = 48, written to u[0 .. count - 1] (the caller's). */
void crypto_x25519_hash_to_field(const uint8_t *msg, size_t msg_len,
				 const uint8_t *dst, size_t dst_len,
				 crypto_fe *u, size_t count);
/* map_to_curve_elligator2 for curve25519 (section 6.7.1, computed as in
 * appendix G.2.1), before the cofactor is cleared: the point's affine u
 * and v (32 bytes each, little-endian, reduced). */
void crypto_x25519_elligator2(const crypto_fe *r, uint8_t u[static 32], uint8_t v[static 32]);
/* hash_to_curve after hash_to_field: maps r[0] and r[1], adds the two
 * points and clears the cofactor; u and v as crypto_x25519_hash_to_curve
 * writes them. The field-level half of the suite, for tests of the law's
 * corner cases (r[1] = r[0] or -r[0] gives twice one point). */
void crypto_x25519_hash_from_field(const crypto_fe r[static 2],
				   uint8_t u[static 32], uint8_t v[static 32]);
/* RFC 9380 encode_to_curve with suite curve25519_XMD:SHA-512_ELL2_NU_ and
 * the given DST: u and v as crypto_x25519_hash_to_curve writes them. */
void crypto_x25519_encode_to_curve(const uint8_t *msg, size_t msg_len,
				   const uint8_t *dst, size_t dst_len,
				   uint8_t u[static 32], uint8_t v[static 32]);
/* RFC 9380 hash_to_curve with suite curve25519_XMD:SHA-512_ELL2_RO_ and
 * the given DST (at most 255 bytes): writes the point's u and v
 * (32 bytes each, little-endian, reduced). For the RFC's vectors. The
 * identity (probability about 2^-252) is written as u = v = 0, which no
 * other output can be: (0, 0) has order 2, outside the order-l subgroup. */
void crypto_x25519_hash_to_curve(const uint8_t *msg, size_t msg_len,
				 const uint8_t *dst, size_t dst_len,
				 uint8_t u[static 32], uint8_t v[static 32]);
/* The suite's H(t, d) (docs/spec/psi-protocol.md section 2b): the
 * u-coordinate of hash_to_curve(M, DST) with M laid out as section 2 says
 * ("cleanroom/psi/v2" 0x00 type 0x00 digest) and the spec's DST. An identity
 * result (probability about 2^-252) is refused with CR_ERR_PSI_IDENTITY, as
 * section 2 says; out is written only on success. A type outside the enum
 * aborts. M, the uniform bytes and the points are wiped: d is personal data. */
cr_err crypto_x25519_hash_to_group(enum crypto_id_type t,
				   const uint8_t digest[static CRYPTO_DIGEST_BYTES],
				   uint8_t out[static 32]) CR_MUST_CHECK;
/* The scalar half of crypto_x25519_hash_to_group: M as that function lays
 * it out, expanded and reduced to the two field elements r[0], r[1] (the
 * caller's, to be wiped by it: they are a function of the digest). M and
 * the uniform bytes are wiped here. What the eight-lane hash
 * (crypto_x25519_hash_many) runs per element before its field part. */
void crypto_x25519_hash_to_group_field(enum crypto_id_type t,
				       const uint8_t digest[static CRYPTO_DIGEST_BYTES],
				       crypto_fe r[static 2]);

/* ============================ Curve25519, eight lanes and batches (issue 22) */
/*
 * The checked multiplication eight elements at a time with AVX-512 IFMA
 * (crypto/x25519_ifma.c) and over a list with one scalar, choosing that
 * code or the portable one at run time (crypto/x25519_batch.c). Both give
 * crypto_x25519_mul's bytes and errors for every input. Likewise the hash
 * to the group: its field part on eight lanes (crypto/x25519_h2c_ifma.c)
 * and over a list of digests (crypto_x25519_hash_many), with
 * crypto_x25519_hash_to_group's bytes and errors.
 */

/*
 * CR_CT_PUBLIC(p, n): the n bytes at p are derived from a secret but are
 * public by design (the identity flag of a result, which is then
 * refused). tests/ct builds crypto/x25519*.c with -DCR_CT_VALGRIND, where
 * it tells valgrind's memcheck so; elsewhere it does nothing.
 */
#ifdef CR_CT_VALGRIND
#include <valgrind/memcheck.h>
#define CR_CT_PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define CR_CT_PUBLIC(p, n) ((void)(p), (void)(n))
#endif

/* The backends of crypto_x25519_mul_many_impl. */
enum { CRYPTO_X25519_PORTABLE = 0, CRYPTO_X25519_IFMA = 1 };

/* 1 when the CPU (and the OS) run avx512f, avx512vl and avx512ifma. */
int crypto_x25519_ifma_available(void);
/*
 * The functions below need crypto_x25519_ifma_available(): on another CPU
 * they die of an illegal instruction. Each takes eight independent lanes;
 * rc[i] is lane i's result and out[i] is written only where rc[i] is CR_OK.
 * out may alias the inputs.
 *
 * crypto_x25519_ifma_ladder8: crypto_x25519_ladder on (k[i], u[i]) (no
 * validation, CR_ERR_PSI_IDENTITY or CR_OK).
 * crypto_x25519_ifma_mul8: crypto_x25519_mul(s[i], p[i]).
 * crypto_x25519_ifma_mul8_kappa: the same with kappa[i] = kappa(s_i) given.
 */
void crypto_x25519_ifma_ladder8(const uint8_t k[8][32], const uint8_t u[8][32],
				uint8_t out[8][32], cr_err rc[8]);
void crypto_x25519_ifma_mul8(const uint8_t s[8][32], const uint8_t p[8][32],
			     uint8_t out[8][32], cr_err rc[8]);
void crypto_x25519_ifma_mul8_kappa(const uint8_t kappa[8][32], const uint8_t p[8][32],
				   uint8_t out[8][32], cr_err rc[8]);
/*
 * crypto_x25519_ifma_hash_from_field8 (crypto/x25519_h2c_ifma.c): lane i
 * is crypto_x25519_hash_from_field on (r0[i], r1[i]) (each 32 bytes
 * little-endian, bit 255 ignored, a value >= p taken mod p): u[i] and v[i]
 * as that function writes them. Returns the mask of lanes whose point is
 * the identity (bit i for lane i; u = v = 0 there). Same IFMA requirement.
 */
unsigned crypto_x25519_ifma_hash_from_field8(const uint8_t r0[8][32], const uint8_t r1[8][32],
					     uint8_t u[8][32], uint8_t v[8][32]);

/* out[i] = s * in[i] (the suite's checked multiplication) for i < n, one
 * scalar for all; out may equal in. Returns CR_OK, or the error of the
 * lowest refused index, written to *bad_index (when non-NULL); outputs of
 * accepted indices are written either way, refused ones are left as they were. */
cr_err crypto_x25519_mul_many(const uint8_t s[static 32], const uint8_t *in,
			      uint8_t *out, size_t n, size_t *bad_index) CR_MUST_CHECK;
/* "ifma" or "portable": what crypto_x25519_mul_many uses in this process
 * (decided at the first call: CPUID, and CLEANROOM_CRYPTO=portable forces
 * the portable code). */
const char *crypto_x25519_backend(void);
/* crypto_x25519_mul_many on a given backend (CRYPTO_X25519_IFMA runs the
 * portable code where the CPU lacks IFMA), for tests and benchmarks. */
cr_err crypto_x25519_mul_many_impl(int backend, const uint8_t s[static 32], const uint8_t *in,
				   uint8_t *out, size_t n, size_t *bad_index) CR_MUST_CHECK;
/* out[i] = scalars[i] * in[i] (the checked multiplication, a scalar each)
 * for i < n, eight at a time on the backend crypto_x25519_backend names;
 * out may equal in. Stops at the first group holding a refusal: returns its
 * lowest refused index's error, written to *bad_index (when non-NULL), with
 * the outputs before that index written (crypto_psi_mul_pairs's contract). */
cr_err crypto_x25519_mul_pairs(const uint8_t *scalars, const uint8_t *in, uint8_t *out, size_t n,
			       size_t *bad_index) CR_MUST_CHECK;
/*
 * out[i] = crypto_x25519_hash_to_group(t, digests[i]) for i < n (digests
 * CRYPTO_DIGEST_BYTES each, out 32 bytes each, both the caller's), eight
 * at a time on the IFMA lanes where crypto_x25519_backend() is "ifma", one
 * at a time on the portable code otherwise (and for the remainder).
 * Returns CR_OK, or the error of the lowest refused index (an identity,
 * probability 2^-252); accepted outputs are written either way, refused
 * ones are left as they were. Wipes M, the uniform bytes and the field
 * elements, as crypto_x25519_hash_to_group does (digests are personal
 * data). A type outside the enum aborts.
 */
cr_err crypto_x25519_hash_many(enum crypto_id_type t, const uint8_t *digests, uint8_t *out,
			       size_t n) CR_MUST_CHECK;
/* crypto_x25519_hash_many on a given backend (CRYPTO_X25519_IFMA runs the
 * portable code where the CPU lacks IFMA), for tests and benchmarks. */
cr_err crypto_x25519_hash_many_impl(int backend, enum crypto_id_type t, const uint8_t *digests,
				    uint8_t *out, size_t n) CR_MUST_CHECK;
/* Forgets the decision, so that the next call reads CLEANROOM_CRYPTO and
 * CPUID again (tests only). */
void crypto_x25519_backend_reset(void);

#endif /* CR_CRYPTO_INTERNAL_H */
