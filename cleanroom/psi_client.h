/*
 * psi_client.h: the partner's transport to a remote clean room service
 * (internal to cleanroom/): the match routes of docs/api.yaml over HTTPS
 * with libcurl, carrying the messages of psi_partner.h unchanged.
 *
 * Like psi_partner.c, this module never links against the store: it knows
 * a base URL, a bearer token and, for a self-signed service, the CA file to
 * trust. The server certificate and host name are always verified; plain
 * http:// is refused unless the caller allows it explicitly. One client
 * carries one match at a time over one kept-alive connection. The token is
 * sent only in the Authorization header and is wiped on psi_client_free.
 *
 * Failures map to the project's codes: the service's JSON error
 * {"error":{"code":"budget_exhausted",...}} becomes CR_ERR_BUDGET_EXHAUSTED
 * and so on (any code this build does not know is CR_ERR_REMOTE); transport
 * failures are CR_ERR_REMOTE or CR_ERR_REMOTE_TLS. psi_client_detail says
 * more (the HTTP status, curl's message), never a token or an identifier.
 */
#ifndef CR_CLEANROOM_PSI_CLIENT_H
#define CR_CLEANROOM_PSI_CLIENT_H

#include <stdbool.h>

#include <jansson.h>

#include "common/common.h"
#include "cleanroom/psi_partner.h"

struct psi_client_opts {
	const char *url;        /* "https://host:port" (a trailing '/' is ignored) */
	const char *token;      /* the partner's bearer token */
	const char *cacert;     /* PEM file of CAs to trust; NULL: the system's */
	bool allow_http;        /* accept http:// (the token travels in clear) */
	long connect_timeout_s; /* 0: 10 s */
	long timeout_s;         /* per request; 0: 15 min (a round of 50M elements) */
};

struct psi_client;

/*
 * Checks the options (CR_ERR_USAGE: no URL or token, a URL that is neither
 * https:// nor, when allowed, http://) and prepares the connection; nothing
 * is sent yet. *out is handed over (psi_client_free).
 */
cr_err psi_client_new(const struct psi_client_opts *o, struct psi_client **out) CR_MUST_CHECK;
/* Wipes the token, closes the connection and frees; accepts NULL. */
void psi_client_free(struct psi_client *c);

/* Round 1: POST /v1/collaborations/{id}/sessions; *offer as the service sent it. */
cr_err psi_client_open(struct psi_client *c, const struct psi_open_request *req,
		       struct psi_session_offer *offer) CR_MUST_CHECK;
/* Rounds 2-4: B to the open session; A back (handed over), as sent. */
cr_err psi_client_blinded(struct psi_client *c, const struct psi_elements *b,
			  struct psi_elements *a_out) CR_MUST_CHECK;
/*
 * Rounds 5-6: A' to the session; *release_json (handed over, free()) is the
 * service's stored answer, released or refused, as its text arrived.
 */
cr_err psi_client_answer(struct psi_client *c, const struct psi_elements *a_prime,
			 char **release_json) CR_MUST_CHECK;
/* DELETE /v1/sessions/{id}: the partner gives up the open session (audited there). */
cr_err psi_client_abort(struct psi_client *c) CR_MUST_CHECK;
/* GET /v1/collaborations/{id}/budget: the ledger (new reference). */
cr_err psi_client_budget(struct psi_client *c, int64_t collab, json_t **ledger) CR_MUST_CHECK;

/* What the last failure was, in words ("" after a success). Owned by c. */
const char *psi_client_detail(const struct psi_client *c);
/* Body bytes sent to and received from the service so far. */
void psi_client_traffic(const struct psi_client *c, uint64_t *sent, uint64_t *received);

#endif
