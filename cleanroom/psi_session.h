/*
 * psi_session.h: the service's role in a match, as a state machine
 * (internal to cleanroom/; docs/spec/psi-protocol.md, docs/spec/privacy.md).
 *
 *   open --B--> B received --> C set --> A sent --A'--> A' received
 *        --> released | refused           (and from any live state: expired)
 *
 * open      the query is checked against the collaboration's rule and the
 *           budget (a query that cannot be paid for is refused before
 *           anything is read); the dataset's records whose consent is valid
 *           now (every purpose, and the sharing consent for the partner:
 *           registry's gate, I2/I3) are loaded; a, the permutation π and the
 *           padding are drawn. The offer announces |A| = the eligible count
 *           rounded UP to a bucket: a multiple of max(64, 2^(bitlen(n)-7)),
 *           at least 64, so the partner learns the eligible count only to
 *           within 1/64 (padding entries are random group elements, which
 *           match nothing).
 * B         sizes are checked against the announced count and the rule's
 *           limits before any group operation; C = (a·k)·B is kept only as
 *           a set of 16-byte prefixes; B with a duplicate, an invalid
 *           encoding or the identity is refused.
 * A         a·E_x for the eligible records, placed by π (position i holds
 *           record π(i) or padding).
 * A'        exactly |A| elements (refused otherwise); record π(i) matched
 *           iff prefix(A'_i) ∈ C; |matched| <= min(|X|, |Y|) is asserted;
 *           matched records are re-checked against consent at this moment,
 *           so a subject who withdrew after open is not counted (I3); then
 *           release.h's procedure runs and stores its answer before it is
 *           returned.
 *
 * Every open, refusal, expiry and release is an audit leaf (match.session,
 * match.refuse, match.expire, match.release), with counts but never
 * membership. When a session ends, however it ends, a, a·k, π, C, the
 * loaded records and every intermediate buffer are wiped and freed at once;
 * only the release result stays until psi_session_free.
 *
 * The service never sees a partner identifier: only B and A'. A session is
 * used by one caller at a time; struct psi_sessions (below) lets a server
 * keep several, find them by id and sweep expired ones.
 */
#ifndef CR_CLEANROOM_PSI_SESSION_H
#define CR_CLEANROOM_PSI_SESSION_H

#include "common/common.h"
#include "crypto/crypto.h"
#include "cleanroom/psi_partner.h"
#include "cleanroom/release.h"

struct app;

#define PSI_SESSION_TTL_MS (15 * 60 * 1000)

enum psi_state {
	PSI_OPEN = 1,
	PSI_B_RECEIVED,
	PSI_C_SET,
	PSI_A_SENT,
	PSI_A_PRIME_RECEIVED,
	PSI_RELEASED,
	PSI_REFUSED,
	PSI_EXPIRED,
};

/* "open", "b_received", ...; "unknown" outside the enum. */
const char *psi_state_name(enum psi_state s);

struct psi_session_opts {
	cr_time_ms now;                 /* the time of the open (0: now) */
	int64_t ttl_ms;                 /* 0: PSI_SESSION_TTL_MS */
	const char *actor_role;         /* for the audit leaves; NULL: "partner" */
	const char *actor_id;           /* NULL: the collaboration's partner */
	const struct crypto_rng *noise_rng;  /* NULL: randombytes (tests pass a seeded one) */
};

struct psi_session;

/*
 * Round 1. Opens a session for `req` on app `a`: refuses an unknown
 * collaboration (CR_ERR_COLLAB_NOT_FOUND, with no audit leaf: there is no
 * collaboration to record it under), then a query the rule does not allow
 * (release_query_parse's codes) and a query the budget cannot pay for
 * (CR_ERR_BUDGET_EXHAUSTED), each with an audit leaf "match.refuse" and the
 * reason (and, for the budget, what is left) in `why`. Then loads the
 * eligible records, the consent gate running on `pool` (each worker on its
 * own read connection; NULL runs inline), and fills *offer. *out is handed
 * over (psi_session_free).
 */
cr_err psi_session_open(struct app *a, struct crypto_pool *pool, const struct psi_open_request *req,
			const struct psi_session_opts *opts, struct psi_session **out,
			struct psi_session_offer *offer, char *why, size_t why_cap) CR_MUST_CHECK;

/*
 * Rounds 2-4. Takes B (`len` bytes, announced as `announced` elements) and
 * returns A in *a_out (handed over). Refusals end the session (audited,
 * wiped): CR_ERR_PSI_COUNT (len != announced * 32), CR_ERR_PSI_SET_TOO_SMALL,
 * CR_ERR_PSI_SET_TOO_LARGE, CR_ERR_PSI_ENCODING, CR_ERR_PSI_IDENTITY,
 * CR_ERR_PSI_DUPLICATE. CR_ERR_PSI_SESSION_STATE out of order,
 * CR_ERR_PSI_SESSION_EXPIRED past the expiry.
 */
cr_err psi_session_blinded(struct psi_session *s, struct app *a, struct crypto_pool *pool,
			   const uint8_t *b, size_t len, uint64_t announced, cr_time_ms now,
			   struct psi_elements *a_out) CR_MUST_CHECK;

/*
 * Rounds 5-6. Takes A' (`len` bytes, announced as `announced` elements;
 * both must equal |A|, else CR_ERR_PSI_ANSWER_LENGTH; a repeated element is
 * CR_ERR_PSI_DUPLICATE; both audited, nothing charged), matches,
 * re-checks consent (on `pool`, as at open) and runs the release. On CR_OK *release_json (handed
 * over, free()) is the stored answer: released, or refused under k
 * (charged). CR_ERR_BUDGET_EXHAUSTED also hands over the stored refusal
 * (nothing charged). Any other error leaves *release_json NULL.
 */
cr_err psi_session_answer(struct psi_session *s, struct app *a, struct crypto_pool *pool,
			  const uint8_t *a_prime, size_t len, uint64_t announced, cr_time_ms now,
			  char **release_json) CR_MUST_CHECK;

/*
 * Ends a live session on the partner's behalf (it gave up, or its list
 * failed to load): audited as "match.refuse" with `reason`'s name, wiped.
 * A session already ended is left as it is.
 */
cr_err psi_session_abort(struct psi_session *s, struct app *a, cr_err reason) CR_MUST_CHECK;

/*
 * If `now` is at or past the expiry of a live session: audits
 * "match.expire", wipes and frees its state, and returns true.
 */
bool psi_session_expire(struct psi_session *s, struct app *a, cr_time_ms now);

enum psi_state psi_session_state(const struct psi_session *s);
/* The session id (hex, borrowed). */
const char *psi_session_id(const struct psi_session *s);
/* The collaboration it belongs to and its partner (for a transport's checks). */
int64_t psi_session_collab(const struct psi_session *s);
const char *psi_session_partner(const struct psi_session *s);
/* Who opened it (opts.actor_id; a transport binds later rounds to it). */
const char *psi_session_actor(const struct psi_session *s);
/* The actor id of the partner token `token_id` ("token:<id>"), as sessions record it. */
void psi_session_token_actor(int64_t token_id, char *buf, size_t cap);
cr_time_ms psi_session_expires(const struct psi_session *s);
/*
 * Bytes of secret or per-record state still held (a, a·k, π, C, records,
 * buffers): non-zero while live, 0 once the session ended.
 */
size_t psi_session_held_bytes(const struct psi_session *s);
/*
 * The release result, with its exact cells (service side only: for tests
 * and diagnostics, never sent). NULL before the release.
 */
const struct release_result *psi_session_result(const struct psi_session *s);
/* The exact eligible count at open (service side only). */
uint64_t psi_session_eligible(const struct psi_session *s);

/*
 * What rounds 4 and 6 did, counted where it is done: the multiplications
 * that built A, the look-ups of A' in C, the gate checks of the re-check
 * (one per loaded record: n, or none when nothing changed since the load,
 * section 9), the positions that took their record's verdict and the rows
 * aggregated. Each is |A|, or n or 0 for the gate checks, whatever the
 * overlap is (docs/spec/psi-protocol.md, section 6); tests and the leak
 * bench read them.
 */
struct psi_work {
	uint64_t a_mults, lookups, gate_checks, verdicts, rows;
	uint64_t rechecked; /* records the re-check ran the gate on: n, or 0 when stable */
};
const struct psi_work *psi_session_work(const struct psi_session *s);

/* Wipes and frees; accepts NULL. Does not audit (see psi_session_expire). */
void psi_session_free(struct psi_session *s);

/* ------------------------------------------------------ session table */

/*
 * The sessions a server holds, by id. Thread-safe (one mutex). A request
 * acquires its session for the duration of one round and releases it
 * after; an acquired session is never swept or handed to a second caller.
 */
struct psi_sessions;

struct psi_sessions *psi_sessions_new(void);
/* Frees every session left (wiped, not audited); accepts NULL. */
void psi_sessions_free(struct psi_sessions *t);
/*
 * The session with id `id`, marked busy (borrowed until
 * psi_sessions_release); NULL if there is none or another caller has it.
 */
struct psi_session *psi_sessions_acquire(struct psi_sessions *t, const char *id);
void psi_sessions_release(struct psi_sessions *t, struct psi_session *s);
/*
 * The caps a new session must fit under, counting live sessions and the
 * opens under way: in the whole server, per collaboration, and per partner
 * (so one partner cannot take every slot of the server).
 */
struct psi_session_caps {
	size_t server, per_collab, per_partner;
};
/* A slot held for an open under way (owned by the caller until added or unheld). */
struct psi_slot {
	int64_t collab;
	char partner[DATASET_CODE_MAX + 1];
	bool held;
};
/*
 * Checks the caps and holds a slot in one step, so concurrent opens cannot
 * all pass the check: CR_ERR_PSI_SESSIONS_FULL when a cap is reached.
 * Then either psi_sessions_add_held (the open succeeded: the session takes
 * the slot's place) or psi_sessions_unhold (it failed).
 */
cr_err psi_sessions_hold(struct psi_sessions *t, const struct psi_session_caps *caps, int64_t collab,
			 const char *partner, struct psi_slot *slot) CR_MUST_CHECK;
void psi_sessions_add_held(struct psi_sessions *t, struct psi_slot *slot, struct psi_session *s);
void psi_sessions_unhold(struct psi_sessions *t, struct psi_slot *slot);
/* True if session `id` is in the table and was opened by `actor` (busy or not). */
bool psi_sessions_owned(struct psi_sessions *t, const char *id, const char *actor);
/* Removes and frees the session with id `id`, if any and not busy. */
void psi_sessions_remove(struct psi_sessions *t, const char *id);
/*
 * Expires (audited) every idle live session past its expiry, then frees every
 * session that has ended and is past its expiry (an ended session's result
 * stays readable until then); returns how many were freed.
 */
size_t psi_sessions_sweep(struct psi_sessions *t, struct app *a, cr_time_ms now);

/* --------------------------------------------- sessions a stop left open */

/*
 * psi_recover.c: a session's row in match_open is added with its
 * "match.session" leaf and ended with its last leaf, each in that leaf's
 * transaction. At start-up psi_sessions_recover appends a "match.abort"
 * leaf for every row left (a session the previous process never ended)
 * and deletes it, one transaction each; *aborted (may be NULL) counts them.
 */
extern const char psi_schema_open[];
struct psi_open_row {
	const char *session, *tenant, *dataset, *partner, *actor_role, *actor_id;
	int64_t collab_id;
};
cr_err psi_open_row_add(struct store *s, const struct psi_open_row *r) CR_MUST_CHECK;
cr_err psi_open_row_end(struct store *s, const char *session) CR_MUST_CHECK;
cr_err psi_sessions_recover(struct app *a, size_t *aborted) CR_MUST_CHECK;

#endif
