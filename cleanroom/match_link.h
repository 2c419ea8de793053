/*
 * match_link.h: the service as the partner's side of `cleanroom match`
 * sees it (internal to cleanroom/). A link carries the protocol's messages
 * (psi_partner.h) to the service role and back; the partner role and the
 * output are the same whichever link runs:
 *
 *   local   the service role (psi_session.h) in this process, on the data
 *           directory's store; every message still makes its JSON or byte
 *           round trip, so local mode exercises what a transport carries;
 *   remote  a clean room service over HTTPS (psi_client.h); no data
 *           directory is opened.
 *
 * A link holds one match at a time: open, then blinded, then answer; abort
 * ends an open session on the partner's behalf (its list failed, or it
 * gave up) and is a no-op once the session has ended.
 */
#ifndef CR_CLEANROOM_MATCH_LINK_H
#define CR_CLEANROOM_MATCH_LINK_H

#include "common/common.h"
#include "crypto/crypto.h"
#include "cleanroom/psi_client.h"
#include "cleanroom/psi_partner.h"

struct app;
struct match_link;

struct match_link_ops {
	/* Round 1. On a refusal, `why` may say more (the budget left, ...). */
	cr_err (*open)(struct match_link *l, const struct psi_open_request *req,
		       struct psi_session_offer *offer, char *why, size_t cap);
	/* Rounds 2-4: B out, A back (handed over). */
	cr_err (*blinded)(struct match_link *l, const struct psi_elements *b, struct psi_elements *a);
	/* Rounds 5-6: A' out, the release text back (handed over; may come with an error). */
	cr_err (*answer)(struct match_link *l, const struct psi_elements *a_prime, char **release);
	cr_err (*abort)(struct match_link *l, cr_err reason);
	/* "budget left X of Y" for collaboration `collab` into buf ("" if unknown). */
	void (*budget_note)(struct match_link *l, int64_t collab, char *buf, size_t cap);
	/* What the last failure was, in words ("" if nothing to add). */
	const char *(*detail)(const struct match_link *l);
	void (*free)(struct match_link *l);
};

struct match_link {
	const struct match_link_ops *ops;
	uint64_t to_service, from_service;  /* message bytes carried each way */
};

/* A link to the service role in this process on app `a` (borrowed), using `pool` (borrowed). */
struct match_link *match_link_local(struct app *a, struct crypto_pool *pool);
/* A link over `client` (handed over: freed with the link). */
struct match_link *match_link_remote(struct psi_client *client);
/* Ends any open session (abort) and frees; accepts NULL. */
void match_link_free(struct match_link *l);

#endif
