/*
 * requests.h: the register of data-subject rights requests and their
 * deadlines (R22: answered within one month, GDPR 12(3); 30 days under
 * GB/T 35273; extendable by up to two more months only with a reason
 * recorded within the first). Internal to cleanroom/.
 *
 * A request is due 30 days after it was received (the stricter of the
 * two). Requests the clean room answers itself (the consent center's
 * access download, objection and erasure) are recorded completed at once;
 * a brand records those that reach it elsewhere (a letter, an email) with
 * `cleanroom requests add` and closes them with `requests complete`. The
 * register holds no personal data: a kind, a channel, the brand's own case
 * reference and times. Every change appends its audit leaf in the same
 * transaction (I5).
 */
#ifndef CR_CLEANROOM_REQUESTS_H
#define CR_CLEANROOM_REQUESTS_H

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/registry.h"

#define REQUEST_DUE_MS (30LL * 24 * 3600 * 1000)       /* one month: 30 days */
#define REQUEST_EXTENSION_MAX_MS (60LL * 24 * 3600 * 1000) /* two more months */
#define REQUEST_REF_MAX 64
#define REQUEST_REASON_MAX 255

extern const char requests_schema_v1[];

/* access, portability, objection, erasure, withdrawal, rectification. */
bool request_kind_valid(const char *kind);

/*
 * Records a request of `brand` received at `received` (<= now), through
 * `channel` (a short word: consent-center, email, letter, ...), with the
 * brand's reference `ref` (may be NULL; no personal data), completed at
 * once when `completed`. Inside the caller's transaction
 * (CR_ERR_AUDIT_NO_TXN otherwise), with its "request.add" leaf. *id_out
 * (may be NULL) is its number.
 */
cr_err requests_add_in_txn(struct app *a, const struct registry_actor *who, int64_t brand, const char *kind,
			   const char *channel, const char *ref, cr_time_ms received, bool completed,
			   int64_t *id_out) CR_MUST_CHECK;
/* The same in a transaction of its own. */
cr_err requests_add(struct app *a, const struct registry_actor *who, int64_t brand, const char *kind,
		    const char *channel, const char *ref, cr_time_ms received, bool completed,
		    int64_t *id_out) CR_MUST_CHECK;
/* Marks request `id` of `brand` answered now ("request.complete"). CR_ERR_REQUEST_STATE if it was. */
cr_err requests_complete(struct app *a, const struct registry_actor *who, int64_t brand, int64_t id) CR_MUST_CHECK;
/*
 * Extends request `id` by `extra_ms` (1 ms .. two months) with `reason`
 * ("request.extend"); refused (CR_ERR_REQUEST_STATE) once answered, after
 * the first month, or when already extended.
 */
cr_err requests_extend(struct app *a, const struct registry_actor *who, int64_t brand, int64_t id,
		       cr_time_ms extra_ms, const char *reason) CR_MUST_CHECK;
/* The brand's requests, newest first, as JSON objects appended to `list`; only overdue ones with `overdue`. */
cr_err requests_list(struct app *a, int64_t brand, bool overdue, cr_time_ms now, json_t *list) CR_MUST_CHECK;

#endif
