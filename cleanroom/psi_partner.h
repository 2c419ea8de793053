/*
 * psi_partner.h: the partner's role in a match, and the messages of the
 * protocol (internal to cleanroom/; docs/spec/psi-protocol.md).
 *
 * The partner role reads only its own identifier list and the messages it
 * receives; it never links against the store and never sees the brand's
 * data (this header and psi_partner.c include nothing of store, app or
 * dataset). Its per-session scalar b never leaves it and is wiped when the
 * session ends. The same code serves the local mode (`cleanroom match`
 * running both roles in one process) and, later, a remote client: the
 * messages below are plain values and byte buffers that a transport carries
 * unchanged (JSON for the session offer, 32-byte encodings for elements).
 *
 * Rounds, as the partner sees them:
 *   1  send struct psi_open_request; receive struct psi_session_offer
 *      (session id, suite, identifier type, |A| = the eligible count padded
 *      to a bucket, the partner-set limits, the expiry);
 *   2  psi_partner_load + psi_partner_blind: B = b·H(t, d_y) over the
 *      deduplicated list, shuffled; send it;
 *   4  receive A (|A| elements); psi_partner_answer: A' = b·A_i, same order;
 *   6  receive the release (JSON) and check its shape: psi_partner_release.
 * Everything the partner receives is in those three messages (I4).
 */
#ifndef CR_CLEANROOM_PSI_PARTNER_H
#define CR_CLEANROOM_PSI_PARTNER_H

#include <stdio.h>

#include <jansson.h>

#include "common/common.h"
#include "crypto/crypto.h"

#define PSI_SESSION_ID_BYTES 16
#define PSI_SESSION_ID_HEX (2 * PSI_SESSION_ID_BYTES)
#define PSI_QUERY_ARG_MAX 256
#define PSI_SUITE_MAX 32

/* Round 1, partner -> service. */
struct psi_open_request {
	int64_t collab_id;
	char group_by[PSI_QUERY_ARG_MAX];  /* "segment,region", or "" for none */
	char metrics[PSI_QUERY_ARG_MAX];   /* "count,sum:spend", or "" for count */
};

/* Round 1, service -> partner. */
struct psi_session_offer {
	char session[PSI_SESSION_ID_HEX + 1];
	char suite[PSI_SUITE_MAX];
	enum crypto_id_type id_type;
	uint64_t elements;          /* |A|: the eligible records, padded to a bucket */
	uint64_t min_set, max_set;  /* the partner set's size limits */
	cr_time_ms expires;
};

/* A list of group elements (rounds 2, 4 and 5): count * 32 bytes. */
struct psi_elements {
	uint8_t *bytes;  /* owned (malloc); release with psi_elements_release */
	size_t count;
};

/* Frees the bytes (elements are blinded, not secret) and zeroes *e. */
void psi_elements_release(struct psi_elements *e);

/*
 * JSON forms of the round-1 messages, for a transport. The parsers are
 * strict (every field present with its type, nothing else):
 * CR_ERR_PSI_MESSAGE otherwise. *_to_json return a new reference.
 */
json_t *psi_open_request_to_json(const struct psi_open_request *r);
cr_err psi_open_request_from_json(const json_t *j, struct psi_open_request *out) CR_MUST_CHECK;
json_t *psi_offer_to_json(const struct psi_session_offer *o);
cr_err psi_offer_from_json(const json_t *j, struct psi_session_offer *out) CR_MUST_CHECK;

/* What loading the list found: counts only (never a value). */
struct psi_partner_report {
	uint64_t rows;          /* data rows read */
	uint64_t invalid;       /* rows whose identifier was refused (skipped) */
	uint64_t first_invalid_line;
	uint64_t duplicates;    /* rows whose identifier was already in the list */
	uint64_t distinct;      /* |Y| */
};

/* One partner session. Holds b (sodium_malloc'd) and the list's digests. */
struct psi_partner;

/*
 * Starts the partner's side of the session `offer` (copied). Refuses an
 * unknown suite (CR_ERR_PSI_SUITE) or identifier type (CR_ERR_ID_TYPE).
 * Draws b. *out is handed over (psi_partner_free).
 */
cr_err psi_partner_new(const struct psi_session_offer *offer, struct psi_partner **out) CR_MUST_CHECK;
/* Wipes b and the digests and frees; accepts NULL. */
void psi_partner_free(struct psi_partner *p);

/*
 * Reads the partner list from `f` (borrowed; CSV or NDJSON, rowreader.h):
 * the identifier column of the offer's type, raw ("email", "phone":
 * normalized then hashed) or digest ("email_sha256", "phone_sha256");
 * other columns are ignored. Rows with a refused identifier are skipped
 * and counted; duplicates are removed. Errors: CR_ERR_PSI_NO_ID_COLUMN,
 * the reader's structural errors (with `err` naming the line),
 * CR_ERR_TOO_LARGE past PSI_PARTNER_ROWS_MAX rows. Once per session.
 * Identifiers are normalized and hashed on `pool` (NULL: this thread).
 */
#define PSI_PARTNER_ROWS_MAX 100000000u
cr_err psi_partner_load(struct psi_partner *p, struct crypto_pool *pool, FILE *f, const char *name_hint,
			const struct crypto_id_opts *opts, struct psi_partner_report *rep,
			char *err, size_t errcap) CR_MUST_CHECK;

/*
 * Round 2: B = { b·H(t, d) } over the loaded list, in a fresh random
 * order; the digests are wiped. Refuses a list outside the offer's limits
 * before any group operation (CR_ERR_PSI_SET_TOO_SMALL, _TOO_LARGE), so
 * nothing is computed for a session the service would refuse.
 */
cr_err psi_partner_blind(struct psi_partner *p, struct crypto_pool *pool,
			 struct psi_elements *b_out) CR_MUST_CHECK;

/*
 * Round 5: A' = ( b·A_i ) for the `len` bytes of A received in round 4,
 * which must be exactly offer.elements encodings (CR_ERR_PSI_COUNT); an
 * invalid one is refused (CR_ERR_PSI_ENCODING, CR_ERR_PSI_IDENTITY). b is
 * wiped afterwards either way: a session answers once.
 */
cr_err psi_partner_answer(struct psi_partner *p, struct crypto_pool *pool, const uint8_t *a,
			  size_t len, struct psi_elements *a_prime_out) CR_MUST_CHECK;

/*
 * Round 6: parses the release (JSON text) the service sent and checks that
 * it is one for this session, shaped as release.h describes
 * (CR_ERR_PSI_MESSAGE otherwise). *out is a new reference.
 */
cr_err psi_partner_release(struct psi_partner *p, const char *json, size_t len,
			   json_t **out) CR_MUST_CHECK;

/* Bytes the partner sent (B, A') and received (A, the release) so far. */
void psi_partner_traffic(const struct psi_partner *p, uint64_t *sent, uint64_t *received);

#endif
