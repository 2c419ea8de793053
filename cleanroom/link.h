/*
 * link.h: personal consent links (internal to cleanroom/).
 *
 * A brand asks the service for a link it can send to one person; the link
 * opens the consent page (web/consent.html) with a token in the URL
 * fragment, which browsers never send to a server, so no access log or
 * proxy sees it. The token says which brand and which subject the page may
 * show and withdraw for, and until when. It carries no personal data that
 * anyone but the service can read: the claims (link id, brand id, the
 * brand's keyed pseudonym of the subject, expiry) are sealed with
 * XChaCha20-Poly1305 under a service key derived for CRYPTO_USE_LINK. The
 * Poly1305 tag authenticates the claims (a changed byte is refused) and the
 * encryption hides even the pseudonym, so two links to the same person
 * cannot be told to be the same person's.
 *
 *   token = "crl1." base64url-nopad(nonce[24] || sealed(claims[60]) || tag[16])
 *   claims = link_id[8] || u64be brand || u32be key_version
 *            || pseudonym[32] || i64be expires_ms
 *   associated data = "cleanroom consent link v1"
 */
#ifndef CR_CLEANROOM_LINK_H
#define CR_CLEANROOM_LINK_H

#include <stdint.h>

#include "common/common.h"
#include "crypto/crypto.h"

#define LINK_TOKEN_PREFIX "crl1."
#define LINK_ID_BYTES 8
#define LINK_KEY_BYTES 32
#define LINK_CLAIMS_BYTES (LINK_ID_BYTES + 8 + 4 + CRYPTO_PSEUDONYM_BYTES + 8)
#define LINK_TOKEN_MAX 160            /* longest token text, without the NUL */
#define LINK_TTL_DEFAULT_H 168        /* a week */
#define LINK_TTL_MAX_H 720            /* thirty days */

/* What a link lets its holder do: see and withdraw one subject's consent. */
struct link_claims {
	uint8_t link_id[LINK_ID_BYTES];   /* random; names the link in the audit log */
	int64_t brand;
	struct crypto_pseudonym subject;  /* the brand's pseudonym, never the digest */
	cr_time_ms expires;
};

/* The service-wide link key (brand 0, CRYPTO_USE_LINK, version 1); the caller wipes it. */
cr_err link_key(const struct crypto_keyring *kr, uint8_t key[static LINK_KEY_BYTES]) CR_MUST_CHECK;

/*
 * Seals `c` into out[LINK_TOKEN_MAX + 1] (NUL-terminated) with a random
 * nonce. CR_ERR_INVALID_ARG for a brand below 1.
 */
cr_err link_token_seal(const uint8_t key[static LINK_KEY_BYTES], const struct link_claims *c,
		       char out[static LINK_TOKEN_MAX + 1]) CR_MUST_CHECK;

/*
 * Opens a presented token: CR_ERR_LINK_INVALID for anything not sealed by
 * `key` (wrong prefix, bad base64, wrong length, a changed byte, another
 * key), CR_ERR_LINK_EXPIRED at or after its expiry (`now`). The check is
 * the AEAD tag's, so nothing compares secret bytes one by one. *out is
 * written only on success.
 */
cr_err link_token_open(const uint8_t key[static LINK_KEY_BYTES], const char *token, size_t len,
		       cr_time_ms now, struct link_claims *out) CR_MUST_CHECK;

#endif
