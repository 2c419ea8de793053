/*
 * readers.h: read connections for the consent gate on the worker pool
 * (internal to cleanroom/; readers.c), for a match's load and re-check
 * (psi_session.c).
 *
 * The consent gate is the service's largest cost outside the group
 * operations (one registry decision per scope per record), so it runs on
 * the worker pool: each worker takes its own read connection and consent
 * context (a connection is used by one thread only) and decides a range of
 * records. The registry functions take a struct app; a reader carries a
 * copy of the caller's whose store and consent context are its own, and
 * whose audit log is NULL: nothing it reaches is shared with another
 * thread except the keyring, which is read-only (crypto.h).
 *
 * Each reader holds one read transaction (one snapshot) from its open to
 * its close, and its consent context trusts its caches within it
 * (consent_ctx_snapshot). The connections read through SQLite's memory map
 * (store_open_reader).
 *
 * Not used by ingest: a read connection's page cache is dropped whenever
 * another connection has committed, so readers renewed at each of an
 * ingest's batches started cold every time. At a million customers that
 * made the ingest's gate slower on two readers than on the writer's own
 * connection (66 s against 51 s for 1M rows); a memory map avoids it but
 * counts the mapped store in the ingest's RSS.
 */
#ifndef CR_CLEANROOM_READERS_H
#define CR_CLEANROOM_READERS_H

#include <pthread.h>

#include "cleanroom/app.h"
#include "cleanroom/ingest.h"
#include "cleanroom/registry.h"

struct reader {
	struct store *store;
	struct consent_ctx *consent;
	struct app app;            /* the caller's, with store and consent replaced */
	struct registry_gate gstate;
	struct ingest_gate gate;
	uint64_t checks;           /* gate decisions made (psi_session_work) */
};

#define READERS_MAX 16

/*
 * One reader per pool thread, opened one after the other on the calling
 * thread (so their opens never race each other); pool workers take one
 * for the length of their range and put it back.
 */
struct readers {
	pthread_mutex_t lock;
	size_t n;
	struct reader r[READERS_MAX];
	bool taken[READERS_MAX];
};

/*
 * Opens one reader per thread of `pool` (at most READERS_MAX). On failure
 * the readers opened so far stay open: readers_close.
 */
cr_err readers_open(struct readers *rs, struct app *a, struct crypto_pool *pool) CR_MUST_CHECK;
void readers_close(struct readers *rs);
/* A free reader for the calling thread (dies if none: more ranges than readers). */
struct reader *readers_take(struct readers *rs);
void readers_put(struct readers *rs, struct reader *r);

#endif
