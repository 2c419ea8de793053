/*
 * group.h: group commit for the service (internal to cleanroom/).
 *
 * A single consent event is a few row writes, one audit leaf and, alone,
 * one fsync and one signed checkpoint. Under load the fsync is the cost, so
 * the service lets concurrent requests share a commit: each request joins
 * the open group transaction in a savepoint of its own, its changes and
 * leaves are released into the group (or rolled back alone on failure),
 * and one COMMIT with one checkpoint makes the whole group durable. No
 * member is answered before that COMMIT returns (I5 holds per
 * member: its change and its leaf are in the same savepoint, so in the same
 * transaction), and a failed COMMIT fails every member.
 *
 * Who commits: a committer thread, at most `window_us` after a group
 * opens; the request that fills a group to `max` members; and anyone who
 * takes the store lock without joining (app_store_lock), so other code
 * never sees, or writes beside, an open group. Reads on the service's one
 * connection therefore never see an uncommitted member.
 *
 * Everything here runs under the store lock except the committer's wait.
 */
#ifndef CR_CLEANROOM_GROUP_H
#define CR_CLEANROOM_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

struct app;
struct app_group;

/* One request in a group: its outcome, and how to wake it once known. */
struct app_member {
	bool registered;        /* its change is in the open group */
	bool done;              /* the group committed (or failed): rc is final */
	bool left_open;         /* its handler returned with its savepoint open (a bug) */
	cr_err rc;
	void (*wake)(void *ctx); /* set by a caller that parked; called under the store lock */
	void *wake_ctx;
};

/* The most members one group holds (the one that fills it commits). */
#define APP_GROUP_MAX 64

/*
 * Turns group commit on for `a` (whose store_mutex must be set), with a
 * committer thread that commits an open group `window_us` after it opened.
 * window_us 0: no thread; groups commit only when full or when someone takes
 * the store lock without joining (for tests).
 */
cr_err app_group_start(struct app *a, unsigned window_us, size_t max) CR_MUST_CHECK;

/* Commits what is open, stops the committer and turns grouping off. */
void app_group_stop(struct app *a);

/*
 * Takes the store lock as member `m` (zeroed by the caller): until
 * app_group_leave, app_begin opens a savepoint in the group instead of a
 * transaction and app_commit releases it into the group instead of
 * committing. Returns false (the lock still taken, nothing joined) when
 * grouping is off; then commits are immediate as usual.
 */
bool app_group_join(struct app *a, struct app_member *m);

/*
 * Ends the member's turn, still under the lock: rolls back a savepoint the
 * handler left open (and sets m->left_open), commits the group if it is full. Returns true when
 * the member is in a group that has not committed yet: the caller must set
 * m->wake before it unlocks, and answer only once woken (m->done, m->rc).
 */
bool app_group_leave(struct app *a);

/* The calls app.c makes; true when they handled the call for a member. */
bool app_group_begin(struct app *a, cr_err *rc);
bool app_group_commit(struct app *a, cr_err *rc);
bool app_group_rollback(struct app *a);
/* Commits an open group when the lock holder is not a member (app_store_lock). */
void app_group_flush_foreign(struct app *a);
/* Whether the store's open transaction is the group's (not a leftover). */
bool app_group_open(const struct app *a);

#endif
